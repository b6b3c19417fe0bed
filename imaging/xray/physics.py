"""Mass attenuation coefficients of the materials the simulator and the material table use.

Values are total attenuation with coherent scattering, μ/ρ in cm²/g, from NIST (XCOM,
Standard Reference Database 8; the same numbers as the Hubbell–Seltzer tables, SRD 126) at the
two effective energies of the simulated dual-energy scanner: 60 keV (low) and 150 keV (high),
for water, polyethylene, aluminium, iron, copper and lead. "fabric" (low-density organic) and
"glass" are approximations made for the simulator, not NIST values. Densities in g/cm³.

One energy per channel means R does not change with thickness here (no beam hardening); a
measured scanner's table is 2-D over (A_high, R) for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HIGH_KEV", "LOW_KEV", "MATERIALS", "Material"]

LOW_KEV = 60.0
HIGH_KEV = 150.0


@dataclass(frozen=True)
class Material:
    """A material: class, density, and mass attenuation at the low and high energy."""

    name: str
    material_class: str  # organic, mixed or metal
    density: float
    mu_low: float
    mu_high: float

    @property
    def ratio(self) -> float:
        """R = A_low / A_high for this material alone (no beam hardening)."""
        return self.mu_low / self.mu_high

    def attenuation(self, thickness_cm, *, high: bool):
        """A = μ/ρ · ρ · t for a thickness in cm (array or float)."""
        return (self.mu_high if high else self.mu_low) * self.density * thickness_cm


MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("water", "organic", 1.00, 0.2059, 0.1505),
        Material("polyethylene", "organic", 0.94, 0.1970, 0.1534),
        Material("fabric", "organic", 0.30, 0.2000, 0.1490),
        Material("aluminium", "mixed", 2.70, 0.2778, 0.1378),
        Material("glass", "mixed", 2.50, 0.2530, 0.1340),
        Material("iron", "metal", 7.87, 1.2050, 0.1964),
        Material("copper", "metal", 8.96, 1.5930, 0.2218),
        Material("lead", "metal", 11.35, 5.0210, 2.0140),
    )
}
