"""Site images that put every service back on the busybox lure, one container each.

The tests of the deployment machinery (rollout, mutations, drift, recovery, the API and the
editor over them) deploy with these: what they check does not depend on what answers inside a
service, and a sensor container costs seconds of CPU to start, which on a 2-core machine
running three test workers adds up to minutes. The sensors themselves are deployed, shipped and
attacked by real clients in tests/sensor, tests/collect and tests/fleet/test_first_deploy.py.
"""

from __future__ import annotations

from decnet.engine.lure_image import LURE_IMAGE

LURES = {"*": LURE_IMAGE}
"""Site images (Settings.site_images)."""
LURES_ENV = f"*={LURE_IMAGE}"
"""The same as DECNET_IMAGES, for a `decnet` process."""
