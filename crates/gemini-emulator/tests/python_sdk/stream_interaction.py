# Run by tests/python_sdk/main.rs with the emulator's base URL: the official SDK, unchanged,
# streams an interaction, resumes it from an event id, creates one unary and continues the
# conversation; prints what it saw as one JSON object.
import json
import sys

from google import genai
from google.genai import types

client = genai.Client(
    api_key="test-key",
    http_options=types.HttpOptions(base_url=sys.argv[1]),
)
MODEL = "gemini-2.5-flash"
seen = {}

# A streamed interaction, event by event.
stream = client.interactions.create(
    model=MODEL, input="Tell me about rivers and their deltas.", stream=True
)
event_types, event_ids, text, unknown = [], [], "", 0
for event in stream:
    if getattr(event, "is_unknown", False):
        unknown += 1
    event_types.append(event.event_type)
    event_ids.append(event.event_id)
    if event.event_type == "interaction.created":
        seen["stream_id"] = event.interaction.id
    elif event.event_type == "step.delta" and event.delta.type == "text":
        text += event.delta.text
    elif event.event_type == "interaction.completed":
        seen["stream_status"] = event.interaction.status
        seen["stream_total_tokens"] = event.interaction.usage.total_tokens
seen.update(
    event_types=event_types, event_ids=event_ids, stream_text=text, unknown_events=unknown
)

# The same stream, read again after its fourth event.
resumed = client.interactions.get(
    seen["stream_id"], stream=True, last_event_id=event_ids[3]
)
seen["resumed_ids"] = [event.event_id for event in resumed]

# Unary, then a second turn kept by the service.
first = client.interactions.create(model=MODEL, input="My name is Ada.")
seen["unary_status"] = first.status
seen["unary_text"] = first.steps[-1].content[0].text
second = client.interactions.create(
    model=MODEL, input="What is my name?", previous_interaction_id=first.id
)
seen["second_turn_text"] = second.steps[-1].content[0].text
stored = client.interactions.get(second.id)
seen["stored_step_types"] = [step.type for step in stored.steps]

print(json.dumps(seen))
