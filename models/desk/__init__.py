"""Desk actions and read models: every ticket change (one transaction each) and what the console
shows of tickets."""
