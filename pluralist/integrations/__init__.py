"""Pluralist rewards inside alignment pipelines: trl.py (a reward function for TRL's
GRPOTrainer), client.py (a small HTTP client of `pluralist serve`, standard library only).
OpenRLHF needs no code: its remote reward client calls the server's /get_reward."""
