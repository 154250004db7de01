"""Asks the emulator for one long interaction with the official Python SDK, which follows
`requires_continuation` by itself (automatic continuation is its default): unary, streamed, and
unary again with store=False.

Run by tests/python_sdk/main.rs as: python -c SCRIPT BASE_URL MODEL PROMPT
Prints one JSON object with what the SDK returned.
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


def text_of(interaction):
    return "".join(
        content.text or ""
        for step in interaction.steps
        if step.type == "model_output"
        for content in step.content
        if content.type == "text"
    )


seen = {}
unary = client.interactions.create(model=model, input=prompt)
seen["unary_text"] = text_of(unary)
seen["unary_status"] = unary.status
seen["unary_hops"] = len(unary.continuation_ids or [])
seen["unary_output_tokens"] = unary.usage.total_output_tokens

text, statuses = "", []
for event in client.interactions.create(model=model, input=prompt, stream=True):
    if event.event_type == "step.delta" and event.delta.type == "text":
        text += event.delta.text
    elif event.event_type == "interaction.completed":
        statuses.append(event.interaction.status)
seen["stream_text"] = text
seen["stream_statuses"] = statuses

unstored = client.interactions.create(model=model, input=prompt, store=False)
seen["unstored_text"] = text_of(unstored)
seen["unstored_status"] = unstored.status

print(json.dumps(seen))
