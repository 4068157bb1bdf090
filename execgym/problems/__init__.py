"""One sub-package per problem: params.py, dynamics.py, env.py, oracle.py."""
