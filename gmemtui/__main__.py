from gmemtui.cli import main

raise SystemExit(main())
