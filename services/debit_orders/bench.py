"""The gateway's speed: generating, decoding and importing large DOEXEC files.

`generate_doexec` writes a realistic file fast (each detail is a template record with its
varying fields packed in place; the header and trailer through the copybook codec), so that
a million-record file takes seconds, not minutes. `measure_decode` times, on CPU time, the
codec alone (every detail through the compiled decoder) and the whole check of pass 1
(`scan_doexec`: read, decode, validate, control totals). `import_in_subprocess` runs
`loyalty debit-orders import FILE --json` as its own process, as an operator would, and
reads that process's wall time and peak resident memory from the kernel (wait4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Final

from services.debit_orders.codec import compiled_decoder, encode_packed, encode_record
from services.debit_orders.doexec import DETAIL, HASH_MODULUS, HEADER, LRECL, TRAILER, scan_doexec

RUN_DATE: Final = date(2026, 11, 20)
CUSTOMERS: Final = 10_000
CHUNK: Final = 4096


def _template() -> bytes:
    return encode_record(DETAIL, {
        "DOD-REC-TYPE": "D", "DOD-SEQUENCE-NO": 0, "DOD-CUSTOMER-NO": "BENCH0000000",
        "DOD-ACCOUNT-NO": 0, "DOD-USER-CODE": "DSTV", "DOD-USER-SHORT-NAME": "MultiChoic",
        "DOD-USER-REFERENCE": "SUB-BENCH", "DOD-ACTION-DATE": RUN_DATE, "DOD-AMOUNT": 1,
        "DOD-CURRENCY": "ZAR", "DOD-STATUS": "00", "DOD-ENTRY-CLASS": 12,
        "DOD-ORIG-SEQUENCE-NO": 0, "DOD-ORIG-RUN-DATE": None,
    })  # fmt: skip


def generate_doexec(path: Path, records: int, file_id: str) -> tuple[int, int]:
    """A DOEXEC file of `records` paid and unpaid (02, one in ten) debit orders of
    CUSTOMERS customers; returns (total amount, hash total), as in its trailer."""
    f = DETAIL.by_name
    seq, cust, acct = f["DOD-SEQUENCE-NO"], f["DOD-CUSTOMER-NO"], f["DOD-ACCOUNT-NO"]
    amt, status = f["DOD-AMOUNT"], f["DOD-STATUS"]
    template = bytearray(_template())
    paid, unpaid = "00".encode("cp037"), "02".encode("cp037")
    total = hashed = 0
    with path.open("wb") as out:
        out.write(encode_record(HEADER, {
            "DOH-REC-TYPE": "H", "DOH-FILE-ID": file_id, "DOH-RUN-DATE": RUN_DATE,
            "DOH-RUN-NUMBER": 1, "DOH-SOURCE-SYSTEM": "BENCH",
        }))  # fmt: skip
        buffer = bytearray()
        for n in range(1, records + 1):
            customer = n % CUSTOMERS
            account = 4_070_000_000 + customer
            amount = 5_000 + (n * 7919) % 200_000
            template[seq.offset : seq.end] = encode_packed(n, seq.digits, signed=False)
            template[cust.offset : cust.end] = f"BENCH{customer:07d}".encode("cp037")
            template[acct.offset : acct.end] = encode_packed(account, acct.digits, signed=False)
            template[amt.offset : amt.end] = encode_packed(amount, amt.digits, signed=True)
            template[status.offset : status.end] = unpaid if n % 10 == 0 else paid
            buffer += template
            total += amount
            hashed = (hashed + account) % HASH_MODULUS
            if len(buffer) >= CHUNK * LRECL:
                out.write(buffer)
                buffer.clear()
        out.write(buffer)
        out.write(encode_record(TRAILER, {
            "DOT-REC-TYPE": "T", "DOT-RECORD-COUNT": records, "DOT-TOTAL-AMOUNT": total,
            "DOT-HASH-TOTAL": hashed,
        }))  # fmt: skip
    return total, hashed


def _decode_all(path: Path) -> int:
    decode = compiled_decoder(DETAIL)
    decoded = 0
    with path.open("rb") as handle:
        handle.read(LRECL)  # the header
        while chunk := handle.read(LRECL * CHUNK):
            for start in range(0, len(chunk), LRECL):
                if decode(chunk[start : start + LRECL]) is not None:
                    decoded += 1
    return decoded


def measure_decode(path: Path, records: int, repeats: int) -> dict[str, Any]:
    """Records per CPU second: the codec alone, and the whole pass-1 check; best of runs."""
    codec_rates: list[float] = []
    scan_rates: list[float] = []
    for _ in range(repeats):
        started = time.process_time()
        decoded = _decode_all(path)
        codec_rates.append(records / (time.process_time() - started))
        if decoded != records:
            raise RuntimeError(f"decoded {decoded} of {records} details")
        started = time.process_time()
        scan = scan_doexec(path)
        scan_rates.append(records / (time.process_time() - started))
        if scan.details != records or scan.rejects:
            raise RuntimeError(f"scan found {scan.details} details, {len(scan.rejects)} rejects")
    return {
        "records": records,
        "repeats": repeats,
        "decode_per_cpu_s_best": round(max(codec_rates)),
        "decode_per_cpu_s_median": round(sorted(codec_rates)[len(codec_rates) // 2]),
        "scan_per_cpu_s_best": round(max(scan_rates)),
        "scan_per_cpu_s_median": round(sorted(scan_rates)[len(scan_rates) // 2]),
    }


def import_in_subprocess(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """`loyalty debit-orders import FILE --json` as its own process: its summary, wall and
    CPU time, and its peak resident set (ru_maxrss of that very process, from wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", "from shared.cli import main; main()", "debit-orders", "import",
         str(path), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    stdout, stderr = _drain(process)
    wall = time.perf_counter() - started
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    try:
        summary = json.loads(stdout)
    except ValueError:
        summary = None
    if process.returncode not in {0, 1} or summary is None:
        raise RuntimeError(
            f"import exited {process.returncode}: {stdout.decode()[-2000:]}"
            f"{stderr.decode()[-3000:]}"
        )
    (result,) = summary["files"]
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        "published": result["published"],
        "rejected": result["rejected"],
        "records_per_wall_s": round(result["published"] / wall) if wall else None,
        "file_id": result["file_id"],
    }


def _drain(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Both pipes read to the end without reaping the process (wait4 reaps it)."""
    import threading  # noqa: PLC0415

    err: list[bytes] = []
    if process.stdout is None or process.stderr is None:
        raise RuntimeError("the import's output is not piped")
    stderr = process.stderr
    reader = threading.Thread(target=lambda: err.append(stderr.read()))
    reader.start()
    out = process.stdout.read()
    reader.join()
    return out, err[0] if err else b""
