"""The gate inside the cluster: a Kubernetes validating admission webhook.

``supplychain serve admission --policy FILE`` answers the API server's ``AdmissionReview`` v1
requests with the same policy file and the same decision code as ``supplychain gate``:

- :mod:`.review`: the protocol (parse requests, shape answers);
- :mod:`.gatecore`: the gate seen per manifest (cheap rules) and per image (verification);
- :mod:`.engine`: the decision with a deadline, a cache and receipts, always failing closed;
- :mod:`.cache`: the bounded TTL cache with single flight;
- :mod:`.receipts`: signed gate verdicts that admit without a registry call;
- :mod:`.tls`: certificates from files (reloaded) or a self-signed CA;
- :mod:`.server`: HTTPS, health, readiness, Prometheus metrics, JSON logs, graceful shutdown.

Layering: ``cli -> admission -> gate -> (policy, signing, ...)``.
"""
