"""Training: TRL trainers, rewards, callbacks and the child-process entry point. No Flask here."""
