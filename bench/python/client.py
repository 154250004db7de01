"""The official Python SDK (google-genai) under the same measurements as the Rust clients.

Run by `gemini-bench run` inside the virtual environment it creates; prints one JSON object on
stdout in the shape the Rust clients print (allocation counts are not measured here).

    python client.py --port P --mode requests|concurrent --workload N|image
                     [--warmup W] [--requests R] [--concurrency C] [--rounds K]
"""

import argparse
import asyncio
import json
import sys
import time

from google import genai
from google.genai import types

PROMPT = "Why is the sky blue?"


def model_name(workload):
    return "gemini-bench-" + workload


def make_client(port):
    return genai.Client(
        api_key="bench",
        http_options=types.HttpOptions(
            base_url=f"http://127.0.0.1:{port}", api_version="v1beta"
        ),
    )


def content(chunk):
    """The chunk's text, or the size of its inline data (what a consumer reads)."""
    parts = chunk.candidates[0].content.parts if chunk.candidates else None
    if parts and parts[0].inline_data is not None:
        return len(parts[0].inline_data.data)
    text = chunk.text
    return len(text) if text is not None else 0


def rss_kib():
    now = peak = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return now, peak


def run_requests(args):
    client = make_client(args.port)
    model = model_name(args.workload)
    samples = []
    for i in range(args.warmup + args.requests):
        start, cpu = time.perf_counter_ns(), time.process_time_ns()
        first, chunks, text = None, 0, 0
        for chunk in client.models.generate_content_stream(model=model, contents=PROMPT):
            if first is None:
                first = time.perf_counter_ns()
            chunks += 1
            text += content(chunk)
        wall, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        if args.workload.isdigit() and chunks != int(args.workload):
            raise SystemExit(f"python: {chunks} chunks where {args.workload} were sent")
        if i >= args.warmup:
            samples.append(
                {
                    "wall": wall,
                    "cpu": cpu,
                    "ttfc": (first or start) - start,
                    "allocations": 0,
                    "allocated": 0,
                    "peak": 0,
                    "chunks": chunks,
                    "text_bytes": text,
                }
            )
    return {"samples": samples}


async def run_concurrent(args):
    client = make_client(args.port)
    model = model_name(args.workload)

    async def one(established, finished):
        chunks, failed = 0, False
        stream = None
        try:
            stream = await client.aio.models.generate_content_stream(
                model=model, contents=PROMPT
            )
        except Exception as error:  # counted, and reported on stderr
            print(f"python: {error}", file=sys.stderr)
            failed = True
        await established.wait()
        if stream is not None:
            try:
                async for chunk in stream:
                    chunks += 1
                    content(chunk)
            except Exception as error:
                print(f"python: {error}", file=sys.stderr)
                failed = True
        await finished.wait()
        return chunks, failed

    rss_before = rss_kib()[0]
    rounds = []
    # A warm-up round first, as for the Rust clients.
    for number in range(args.rounds + 1):
        established = asyncio.Barrier(args.concurrency)
        finished = asyncio.Barrier(args.concurrency)
        start, cpu = time.perf_counter_ns(), time.process_time_ns()
        results = await asyncio.gather(
            *(one(established, finished) for _ in range(args.concurrency))
        )
        wall, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        if number == 0:
            continue
        rounds.append(
            {
                "concurrency": args.concurrency,
                "wall": wall,
                "cpu": cpu,
                "events": sum(c for c, _ in results),
                "errors": sum(1 for _, f in results if f),
                "peak_heap": 0,
                "held": 0,
                "rss_growth_kib": max(0, rss_kib()[1] - rss_before),
            }
        )
    return {"rounds": rounds}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["requests", "concurrent"], required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--requests", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "requests":
        result = run_requests(args)
    else:
        result = asyncio.run(run_concurrent(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
