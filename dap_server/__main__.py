from dap_server.cli import main

raise SystemExit(main())
