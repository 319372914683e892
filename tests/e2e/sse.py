"""A small Server-Sent Events reader for the tests: events as they arrive
on a streamed requests response, parsed by the rules of the HTML standard
(fields id, event, data; comment lines kept apart so keep-alives can be
checked)."""
import json
import time


class Event:
    def __init__(self, name, data, event_id, at):
        self.name = name
        self.data = data
        self.id = event_id
        self.at = at  # time.monotonic() when it arrived

    def json(self):
        return json.loads(self.data)

    def __repr__(self):
        return f"Event({self.name!r}, id={self.id!r}, {self.data[:80]!r})"


def events(resp, comments=None):
    """Yields the events of resp (requests, stream=True) until it closes;
    comment lines are appended to `comments` when given."""
    name, data, event_id = "message", [], None
    while True:
        line = resp.raw.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield Event(name, "\n".join(data), event_id, time.monotonic())
            name, data = "message", []
            continue
        if line.startswith(":"):
            if comments is not None:
                comments.append(line)
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
