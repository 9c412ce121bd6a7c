"""The client portal: what a broker's clients do for themselves."""
