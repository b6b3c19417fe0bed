"""Builds small FLIR FFF frames and R-JPEGs in memory for the tests."""

from __future__ import annotations

import struct

import numpy as np

from imaging.thermal.planck import ThermalParams


def camera_record(p: ThermalParams, order: str = "<", humidity_fraction: bool = True) -> bytes:
    rec = bytearray(0x340)
    struct.pack_into(order + "H", rec, 0, 2)
    for offset, value in (
        (0x20, p.emissivity),
        (0x24, p.distance_m),
        (0x28, p.reflected_c + 273.15),
        (0x2C, p.atmosphere_c + 273.15),
        (0x30, p.window_c + 273.15),
        (0x34, p.window_transmission),
        (0x3C, p.humidity_percent / 100 if humidity_fraction else p.humidity_percent),
        (0x58, p.planck_r1),
        (0x5C, p.planck_b),
        (0x60, p.planck_f),
        (0x70, p.alpha1),
        (0x74, p.alpha2),
        (0x78, p.beta1),
        (0x7C, p.beta2),
        (0x80, p.atmospheric_x),
        (0x30C, p.planck_r2),
    ):
        struct.pack_into(order + "f", rec, offset, value)
    struct.pack_into(order + "i", rec, 0x308, int(p.planck_o))
    rec[0xD4 : 0xD4 + 10] = b"TestCam 1\0"
    return bytes(rec)


def raw_record(raw: np.ndarray, order: str = "<", payload: bytes | None = None) -> bytes:
    h, w = raw.shape
    head = bytearray(0x20)
    struct.pack_into(order + "HHH", head, 0, 2, w, h)
    body = payload if payload is not None else raw.astype(order + "u2").tobytes()
    return bytes(head) + body


def build_fff(raw: np.ndarray, params: ThermalParams, order: str = "<", **kw) -> bytes:
    records = [
        (0x01, raw_record(raw, order, kw.get("payload"))),
        (0x20, camera_record(params, order)),
    ]
    header = bytearray(0x40)
    header[:4] = b"FFF\0"
    directory_offset = 0x40
    struct.pack_into(order + "III", header, 0x14, 100, directory_offset, len(records))
    directory = bytearray()
    body = bytearray()
    pos = 0x40 + 32 * len(records)
    for rec_type, data in records:
        entry = bytearray(32)
        struct.pack_into(
            order + "HHIIII", entry, 0, rec_type, 1, 100, 1, pos + len(body), len(data)
        )
        directory += entry
        body += data
    return bytes(header + directory + body)


def wrap_in_jpeg(fff: bytes, chunk: int = 60000, drop: int | None = None) -> bytes:
    chunks = [fff[i : i + chunk] for i in range(0, len(fff), chunk)]
    out = bytearray(b"\xff\xd8")
    for k, part in enumerate(chunks):
        if k == drop:
            continue
        payload = b"FLIR\0\x01" + bytes([k, len(chunks) - 1]) + part
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out += b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 16 + b"\xff\xd9"
    return bytes(out)
