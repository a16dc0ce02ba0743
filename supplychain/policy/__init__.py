"""Release policy: policy files, image reference rules, Dockerfile / compose / Kubernetes checks,
waivers, text / JSON / SARIF reports, and digest pinning.

Modules (import what you need; this package imports nothing itself, to stay light):

* :mod:`.config` -- ``load_policy``, ``default_policy``, ``resolve_policy``, ``register_section``
* :mod:`.engine` -- ``check_paths`` (-> ``Report``), ``collect_images``, ``iter_files``
* :mod:`.images` -- ``parse_image``, ``glob_match``, ``is_trusted``
* :mod:`.report` -- ``render_text``, ``render_json``, ``render_sarif``
* :mod:`.findings` -- ``Finding``, ``Rule``, ``RULES``, ``register_rule``
* :mod:`.pin` -- ``pin_paths``, ``registry_resolver``

See docs/policy.md.
"""
