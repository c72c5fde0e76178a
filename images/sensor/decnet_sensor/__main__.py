from decnet_sensor.main import main

raise SystemExit(main())
