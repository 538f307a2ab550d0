#!/usr/bin/env python3
"""Condenses `swift package benchmark` text output (stdin) into one markdown table:
per benchmark, the p50 (and p90) of each metric, as the tool printed them."""
import re
import sys

rows = []
current = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if re.match(r"^[A-Za-z]+:[A-Za-z0-9:]+$", line.strip()):
        current = {"name": line.strip()}
        rows.append(current)
        continue
    if current is None or not line.startswith("│"):
        continue
    cells = [cell.strip() for cell in line.strip("│").split("│")]
    if len(cells) < 9 or cells[0] == "Metric":
        continue
    metric = cells[0]
    # Columns: p0 p25 p50 p75 p90 p99 p100 samples
    current[metric] = (cells[3], cells[5], cells[8])

def find(row, prefix):
    for key, value in row.items():
        if key.startswith(prefix):
            return key, value
    return None, None

print("| benchmark | wall clock p50 (p90) | throughput p50 | mallocs p50 | instructions p50 | samples |")
print("|---|---:|---:|---:|---:|---:|")
for row in rows:
    wall_key, wall = find(row, "Time (wall clock)")
    unit = re.search(r"\((ns|μs|us|ms|s)\)", wall_key or "")
    unit = unit.group(1) if unit else ""
    thr_key, thr = find(row, "Throughput")
    thr_unit = "K/s" if thr_key and "(K)" in thr_key else ("M/s" if thr_key and "(M)" in thr_key else "/s")
    _, malloc = find(row, "Malloc (total)")
    _, instructions = find(row, "Instructions")
    print(f"| {row['name']} | {wall[0]} {unit} ({wall[1]}) | {thr[0]} {thr_unit} | {malloc[0] if malloc else 'n/a'} | "
          f"{instructions[0] if instructions else 'n/a'} | {wall[2]} |")
