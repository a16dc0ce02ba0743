"""Release policy: policy files, image reference rules, Dockerfile / compose / Kubernetes checks,
waivers, text / JSON / SARIF reports, and digest pinning.

Modules (import what you need; this package imports nothing itself, to stay light):

* :mod:`.config` -- ``load_policy``, ``default_policy``, ``resolve_policy``, ``register_section``
* :mod:`.engine` -- ``check_paths`` (-> ``Report``), ``collect_images``, ``iter_files``
* :mod:`.images` -- ``parse_image``, ``glob_match``, ``is_trusted``
* :mod:`.report` -- the report model (``Report``, ``Section``, ``OutputFormat``, ``Decision``) and its
  text / JSON / SARIF writers (``render``)
* :mod:`.findings` -- ``Finding``, ``Severity``, ``Rule``, ``RULES``, ``register_rule``
* :mod:`.waivers` -- the one waiver matcher (``find_waiver``, ``waiver_for``)
* :mod:`.pin` -- ``pin_paths``, ``registry_resolver``

See docs/policy.md.
"""
