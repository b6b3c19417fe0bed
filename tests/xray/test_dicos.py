"""DICOS/DICOM projections reach the X-ray analyzer with air bright, whatever their
photometric interpretation."""

import numpy as np
import pytest

from imaging.xray.analyzer import XrayAnalyzer
from imaging.xray.dicos import is_dicom, read_projection
from imaging.xray.simulate import simulate_scan

pydicom = pytest.importorskip("pydicom")


def write_dicom(path, pixels, photometric, bits_stored=16):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.DICOSDigitalXRayImageStorageForProcessing
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored = 16, bits_stored
    ds.HighBit, ds.PixelRepresentation = bits_stored - 1, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_monochrome1_projection_is_analyzed_like_its_monochrome2_twin(tmp_path):
    scan = simulate_scan(5, shape=(96, 160), threats=("dense_block",))
    counts = scan.high >> 4  # a 12-bit detector
    direct = write_dicom(tmp_path / "m2.dcm", counts, "MONOCHROME2", bits_stored=12)
    inverted = write_dicom(tmp_path / "m1.dcm", 4095 - counts, "MONOCHROME1", bits_stored=12)
    assert is_dicom(direct) and not is_dicom(tmp_path / "missing.dcm")
    np.testing.assert_array_equal(read_projection(inverted), counts)
    analyzer = XrayAnalyzer(detector=None)
    a = analyzer.analyze(str(direct))
    b = analyzer.analyze(str(inverted))
    expected = analyzer.analyze(counts.astype(np.uint16)).maps["attenuation"]
    np.testing.assert_array_equal(a.maps["attenuation"], expected)
    np.testing.assert_array_equal(b.maps["attenuation"], expected)
    assert b.source.endswith("m1.dcm")
