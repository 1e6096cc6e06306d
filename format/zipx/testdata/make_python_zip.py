# Writes python.zip, a small archive made by Python's zipfile, so the tests
# check zipx against a second writer without needing Python. Run from this
# folder: python3 make_python_zip.py
import zipfile

PAYLOAD = b"\x80\x02cposix\nsystem\nq\x00X\x06\x00\x00\x00id; lsq\x01\x85q\x02Rq\x03."
TENSOR = b"\x00\x00\x80?" * 16


def info(name, method):
    zi = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    zi.compress_type = method
    return zi


with zipfile.ZipFile("python.zip", "w") as z:
    z.comment = b"made by Python zipfile"
    z.writestr(info("archive/data.pkl", zipfile.ZIP_DEFLATED), PAYLOAD)
    z.writestr(info("archive/data/0", zipfile.ZIP_STORED), TENSOR)
    z.writestr(info("archive/data/1", zipfile.ZIP_BZIP2), TENSOR * 4)
    # force_zip64 puts a zip64 extra field with both sizes in the local header.
    with z.open(info("archive/zip64", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as f:
        f.write(PAYLOAD)
