#!/usr/bin/python
# -*- coding: utf-8 -*-
"""svckit.svckit.service: a service under svckit, idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: A service under svckit, as a definition and a state
description:
  - Applies a svckit definition with C(svckit apply --json) (installed, changed and restarted,
    or unchanged) and brings the service to I(state).
options:
  name:
    description: The service's name.
    type: str
    required: true
  definition:
    description: The definition, as svckit's TOML text.
    type: str
  src:
    description: A definition file on the host.
    type: path
  state:
    description: started, stopped, present (installed, left as it is) or absent (uninstalled).
    type: str
    choices: [started, stopped, present, absent]
    default: started
  enabled:
    description: Whether it starts with the supervisor (C(start = "auto")) or on demand.
    type: bool
  executable:
    description: The svckit binary.
    type: str
    default: svckit
  state_dir:
    description: The supervisor's state directory, when not the default.
    type: path
"""

EXAMPLES = r"""
- svckit.svckit.service:
    name: web
    definition: |
      program = "/usr/sbin/nginx"
      args = ["-g", "daemon off;"]
    state: started
    enabled: true
"""

RETURN = r"""
action:
  description: What apply did (installed, changed, unchanged), or removed.
  type: str
  returned: always
changed_keys:
  description: The definition's keys that changed.
  type: list
  returned: always
restarted:
  description: Whether the running service was restarted for a changed definition.
  type: bool
  returned: always
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

NOT_FOUND = 3


def svckit(module, *args):
    """The svckit command line for ARGS, with the state directory when given."""
    command = [module.params["executable"], *args]
    if module.params["state_dir"]:
        command += ["--state-dir", module.params["state_dir"]]
    return command


def run(module, *args, check=True):
    rc, out, err = module.run_command(svckit(module, *args))
    if check and rc != 0:
        module.fail_json(msg=f"svckit {' '.join(args)}: {err.strip() or out.strip()}", rc=rc)
    return rc, out, err


def installed(module, name):
    rc, _, _ = run(module, "show", name, check=False)
    return rc == 0


def state_of(module, name):
    rc, out, err = run(module, "status", name, "--json", check=False)
    try:
        status = json.loads(out)
    except ValueError:
        module.fail_json(msg=f"svckit status {name}: {err.strip() or out.strip()}", rc=rc)
    if isinstance(status, list):
        status = status[0]
    return status.get("state")


def with_start(text, enabled):
    """TEXT with its top-level start key set as ENABLED asks (before any table)."""
    start = 'start = "auto"' if enabled else 'start = "demand"'
    pattern = re.compile(r'^start\s*=.*$', re.MULTILINE)
    table = re.search(r'^\s*\[', text, re.MULTILINE)
    head, tail = (text[: table.start()], text[table.start():]) if table else (text, "")
    if pattern.search(head):
        head = pattern.sub(start, head, count=1)
    else:
        head = start + "\n" + head
    return head + tail


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            definition=dict(type="str"),
            src=dict(type="path"),
            state=dict(
                type="str",
                default="started",
                choices=["started", "stopped", "present", "absent"],
            ),
            enabled=dict(type="bool"),
            executable=dict(type="str", default="svckit"),
            state_dir=dict(type="path"),
        ),
        mutually_exclusive=[["definition", "src"]],
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    result = dict(changed=False, action="unchanged", changed_keys=[], restarted=False)

    if params["state"] == "absent":
        if installed(module, name):
            result.update(changed=True, action="removed")
            if not module.check_mode:
                run(module, "uninstall", name)
        module.exit_json(**result)

    text = params["definition"]
    if params["src"]:
        with open(params["src"], encoding="utf-8") as file:
            text = file.read()
    if text is None:
        if not installed(module, name):
            module.fail_json(msg=f"{name} is not installed: give definition or src")
    else:
        if params["enabled"] is not None:
            text = with_start(text, params["enabled"])
        directory = tempfile.mkdtemp(prefix="svckit-ansible-")
        try:
            # Named after the service: a definition without `name` takes its file's.
            path = os.path.join(directory, f"{name}.toml")
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            if module.check_mode:
                _, out, _ = run(module, "apply", "--dry-run", path)
                if not re.search(r":\s*unchanged\s*$", out.strip()):
                    result.update(changed=True, action="would change", plan=out.strip())
            else:
                _, out, _ = run(module, "apply", "--json", path)
                applied = json.loads(out)[0]
                result.update(
                    action=applied["action"],
                    changed_keys=applied["changed"],
                    restarted=applied["restarted"],
                    changed=applied["action"] != "unchanged",
                )
        finally:
            for entry in os.listdir(directory):
                os.unlink(os.path.join(directory, entry))
            os.rmdir(directory)

    if params["state"] in ("started", "stopped") and not (module.check_mode and result["changed"]):
        state = state_of(module, name)
        if params["state"] == "started" and state != "running":
            result["changed"] = True
            if not module.check_mode:
                run(module, "start", name)
        if params["state"] == "stopped" and state not in ("stopped", "exited", "failed"):
            result["changed"] = True
            if not module.check_mode:
                run(module, "stop", name)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
