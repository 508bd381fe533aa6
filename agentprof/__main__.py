from agentprof.cli import main

main()
