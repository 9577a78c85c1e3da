"""The SLA clock: business calendar, policy, time formatting, zone → country."""
