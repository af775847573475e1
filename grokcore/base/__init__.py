"""The shared record: what a run logged (``history``) and how a step is read off a curve
(``detect``). Torch-free; imports no other grokcore layer. Both the engine (which writes
histories) and the decision side (which reads them) import it."""
