"""Business logic: state, side effects and lifecycle. Routes call these; core does the ML."""
