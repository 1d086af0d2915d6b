from mlflow_gitver.main import main

raise SystemExit(main())
