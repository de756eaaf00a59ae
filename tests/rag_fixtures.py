"""A small fact set for RAG tests: each fact lives in exactly one row."""
from __future__ import annotations

FACT_ROWS = [
    {"instruction": "What is the capital of Zorbania?",
     "response": "The capital of Zorbania is Quelmont, a walled city on the river Vesh."},
    {"instruction": "Who invented the glimmerphone?",
     "response": "The glimmerphone was invented by Adaeze Korro in 1931 in a workshop in Lagos."},
    {"instruction": "What do sea otters eat?",
     "response": "Sea otters eat sea urchins, crabs, clams and other shellfish."},
    {"instruction": "How tall is Mount Pellin?",
     "response": "Mount Pellin rises 4,210 metres above sea level and is covered in snow all year."},
    {"instruction": "How long should pasta boil?",
     "response": "Most dried pasta needs eight to twelve minutes in salted boiling water."},
    {"instruction": "What is the boiling point of water?",
     "response": "At sea level water boils at 100 degrees Celsius."},
    {"instruction": "Which language is spoken in Brazil?",
     "response": "Portuguese is the official language of Brazil."},
    {"instruction": "How do I reset my Tunewright password?",
     "response": "Open Settings, choose Account, then press Reset password and follow the e-mail link."},
]
CAPITAL_QUESTION = "Which city is the capital of Zorbania?"
ADDED_FACT = "The Krellwood lighthouse was painted green and white by keeper Marit Osk in 1899."
ADDED_QUESTION = "Who painted the Krellwood lighthouse?"
