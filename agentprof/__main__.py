from agentprof.cli import main

# Guarded: decoding worker processes (spawned) import this module too.
if __name__ == "__main__":
    main()
