"""Learning agents for the execgym environments, meeting the suite's policy protocol."""
