// Mosquitto configuration words that Roost does not implement yet. A file that uses one stops with
// "'word' is not supported yet" instead of starting a broker that behaves differently from what
// the file asks for.

export const NOT_YET_SUPPORTED_WORDS: ReadonlySet<string> = new Set([
  // access control and plugins
  'acl_file', 'auth_plugin', 'plugin', 'global_plugin', 'plugin_load', 'plugin_use', 'auth_plugin_deny_special_chars',
  'allow_zero_length_clientid', 'auto_id_prefix', 'clientid_prefixes', 'per_listener_settings', 'use_username_as_clientid',
  // TLS and PSK
  'cafile', 'capath', 'certfile', 'keyfile', 'crlfile', 'dhparamfile', 'ciphers', 'ciphers_tls1.3', 'tls_version',
  'tls_engine', 'tls_engine_kpass_sha1', 'tls_keyform', 'require_certificate', 'use_identity_as_username',
  'use_subject_as_username', 'psk_file', 'psk_hint', 'ocsp_stapling',
  // listeners beyond plain TCP
  'protocol', 'http_dir', 'mount_point', 'socket_domain', 'bind_interface', 'websockets_headers_size',
  'websockets_log_level', 'accept_protocol_versions',
  // bridges
  'connection', 'address', 'addresses', 'topic', 'bridge_attempt_unsubscribe', 'bridge_bind_address', 'bridge_cafile',
  'bridge_capath', 'bridge_certfile', 'bridge_keyfile', 'bridge_alpn', 'bridge_identity', 'bridge_insecure',
  'bridge_max_packet_size', 'bridge_outgoing_retain', 'bridge_protocol_version', 'bridge_psk', 'bridge_require_ocsp',
  'bridge_tls_version', 'cleansession', 'idle_timeout', 'keepalive_interval', 'local_clientid', 'local_password',
  'local_username', 'notifications', 'notifications_local_only', 'notification_topic', 'remote_clientid',
  'remote_password', 'remote_username', 'restart_timeout', 'round_robin', 'start_type', 'threshold', 'try_private',
  'bridge_receive_maximum', 'bridge_session_expiry_interval', 'bridge_reload_type',
  // behaviour switches Roost has fixed choices for
  'check_retain_source', 'connection_messages', 'memory_limit', 'set_tcp_nodelay',
  'allow_duplicate_messages', 'retry_interval', 'store_clean_interval',
  // process and logging details
  'user', 'log_facility'
])
