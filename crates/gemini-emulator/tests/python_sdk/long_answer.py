"""Asks the emulator for one long answer with the official Python SDK, unary and streamed.

Run by tests/python_sdk/main.rs as: python -c SCRIPT BASE_URL MODEL PROMPT
Prints one JSON object: the SDK's version and the text of each call.
"""

import json
import sys

from google import genai
from google.genai import types

base_url, model, prompt = sys.argv[1:4]
client = genai.Client(
    api_key="python-sdk-test",
    http_options=types.HttpOptions(base_url=base_url),
)
unary = client.models.generate_content(model=model, contents=prompt)
streamed = "".join(
    chunk.text or ""
    for chunk in client.models.generate_content_stream(model=model, contents=prompt)
)
print(
    json.dumps(
        {
            "version": genai.__version__,
            "unary": unary.text,
            "unary_finish": str(unary.candidates[0].finish_reason),
            "stream": streamed,
        }
    )
)
