#!/usr/bin/env python3
"""Independent computation of the RFC 2409 formulas for v1crypto's golden
tests. Prints one line per value: "<name> <hash> <hex>". The inputs are the
same deterministic patterns the Go test builds (pattern(seed, n))."""
import hashlib
import hmac
import struct

HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def pattern(seed, n):
    return bytes((seed + 7 * i) % 256 for i in range(n))


PSK = b"vigil golden pre-shared key"
NI = pattern(1, 32)
NR = pattern(2, 32)
GXI = pattern(3, 256)
GXR = pattern(4, 256)
GXY = pattern(5, 256)
GQM = pattern(6, 64)
CKY_I = 0x0102030405060708
CKY_R = 0xF1F2F3F4F5F6F7F8
SAI_B = pattern(7, 52)
IDII_B = pattern(8, 8)
IDIR_B = pattern(9, 12)
LAST_BLOCK = pattern(10, 16)
MID = 0x9ABCDEF0
REST = pattern(11, 100)
SPI = 0xC0FFEE01
INFO = pattern(12, 40)


def main():
    cky = struct.pack(">QQ", CKY_I, CKY_R)
    cky_r = struct.pack(">QQ", CKY_R, CKY_I)
    mid = struct.pack(">I", MID)
    for name, h in HASHES.items():
        def prf(key, *data):
            return hmac.new(key, b"".join(data), h).digest()

        def hsh(*data):
            return h(b"".join(data)).digest()

        out = {}
        skeyid = prf(PSK, NI, NR)
        out["skeyid"] = skeyid
        d = prf(skeyid, GXY, cky, b"\x00")
        a = prf(skeyid, d, GXY, cky, b"\x01")
        e = prf(skeyid, a, GXY, cky, b"\x02")
        out["skeyid_d"], out["skeyid_a"], out["skeyid_e"] = d, a, e
        # Appendix B expansion to 80 bytes (longer than any PRF output).
        ka, k = b"", b"\x00"
        while len(ka) < 80:
            k = prf(e, k)
            ka += k
        out["ka80"] = ka[:80]
        out["ka32"] = e[:32]
        out["iv1"] = hsh(GXI, GXR)[:16]
        out["hash_i"] = prf(skeyid, GXI, GXR, cky, SAI_B, IDII_B)
        out["hash_r"] = prf(skeyid, GXR, GXI, cky_r, SAI_B, IDIR_B)
        out["iv2"] = hsh(LAST_BLOCK, mid)[:16]
        out["qm_hash1"] = prf(a, mid, REST)
        out["qm_hash2"] = prf(a, mid, NI, REST)
        out["qm_hash3"] = prf(a, b"\x00", mid, NI, NR)
        out["info_hash"] = prf(a, mid, INFO)
        for pfs in (False, True):
            seed = (GQM if pfs else b"") + bytes([3]) + struct.pack(">I", SPI) + NI + NR
            km, k = b"", b""
            while len(km) < 100:
                k = prf(d, k, seed)
                km += k
            out["keymat_pfs" if pfs else "keymat"] = km[:100]
        out["natd4"] = hsh(cky, bytes([192, 0, 2, 1]), struct.pack(">H", 4500))
        out["natd6"] = hsh(cky, bytes.fromhex("20010db8000000000000000000000001"), struct.pack(">H", 500))
        for k2, v in out.items():
            print(k2, name, v.hex())


if __name__ == "__main__":
    main()
