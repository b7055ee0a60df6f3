-- idempotency keys are kept apart by credential class (`check_key`): a record
-- stored before is the backend's (its API key settles and retries); a provider's
-- event ids (`stripe:evt_…`) keep their own namespace.

UPDATE idempotency SET key = 'apikey ' || key WHERE key NOT LIKE '% %' AND key NOT LIKE 'stripe:%'
