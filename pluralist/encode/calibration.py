"""Texts whose activations set the int8 encoder's smoothing factors.

Varied on purpose (dialogue, lists, code, numbers, other languages, short and
long) and written for this file, so calibration needs no data and no download.
The benchmark texts are not among them: fidelity is measured on texts the
calibration never saw (bench/encode.py).
"""

from __future__ import annotations

CALIBRATION_TEXTS = (
    "Thanks!",
    "ok",
    "Why is the sky blue?",
    "I don't think that's a good idea, honestly. Have you asked your manager first?",
    "Human: can you help me write an email to my landlord about the broken heater?\n\n"
    "Assistant: Of course. Here is a short, polite draft you can adapt: Dear Ms. Patel, "
    "the heater in flat 4B has not worked since Monday. Could someone look at it this week? "
    "Kind regards, Sam.",
    "1. Preheat the oven to 200 C.\n2. Slice the potatoes thinly.\n3. Layer them with cream "
    "and garlic.\n4. Bake for 45 minutes until golden.",
    "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n",
    "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 10;",
    "The quarterly revenue rose 12.5% to $4.2bn, while operating costs fell by 3%.",
    "LOL that's the funniest thing I've read all week 😂😂",
    "Le chat dort sur le canapé depuis ce matin.",
    "Wie komme ich am schnellsten zum Hauptbahnhof?",
    "東京の天気は明日晴れるでしょう。",
    "WARNING: Do not mix bleach with ammonia; the fumes are toxic.",
    "In 1905 Einstein published four papers that changed physics: on the photoelectric "
    "effect, Brownian motion, special relativity and the equivalence of mass and energy.",
    "Honestly? I'd skip the gym today, rest is part of training too. Go for a walk, "
    "stretch, drink water, and you'll be back stronger tomorrow.",
    "I'm sorry, but I can't help with that request. If you are in danger, please contact "
    "local emergency services.",
    "Photosynthesis converts light energy into chemical energy: chlorophyll absorbs "
    "photons, water is split, and carbon dioxide is fixed into sugars in the Calvin cycle.",
    "- eggs\n- milk\n- bread\n- two lemons\n- coffee (the good one)",
    "My grandmother used to say that a stew tastes better on the second day, and she was "
    "right: the flavours keep mixing overnight in the fridge.",
    "Error: connection refused at 127.0.0.1:5432 (is the database running?)",
    "To be, or not to be, that is the question.",
    "The defendant's motion to dismiss is denied; discovery shall proceed as scheduled "
    "under the court's order of March 3.",
    "You could try three things: first, restart the router; second, check the cable; "
    "third, call your provider if the light is still red. Usually the first one works, "
    "but it takes about two minutes for everything to reconnect, so be patient.",
)
