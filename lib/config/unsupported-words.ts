// Mosquitto configuration words that Roost does not implement yet. A file that uses one stops with
// "'word' is not supported yet" instead of starting a broker that behaves differently from what
// the file asks for.

export const NOT_YET_SUPPORTED_WORDS: ReadonlySet<string> = new Set([
  // access control and plugins
  'auth_plugin', 'plugin', 'global_plugin', 'plugin_load', 'plugin_use', 'auth_plugin_deny_special_chars',
  // TLS details beyond the TLS words (lib/config/tls-words.ts)
  'dhparamfile', 'tls_engine', 'tls_engine_kpass_sha1', 'tls_keyform', 'ocsp_stapling',
  // listeners beyond plain TCP
  'socket_domain', 'bind_interface', 'websockets_log_level', 'accept_protocol_versions',
  // bridges: bridge-words.ts reads the others
  'bridge_bind_address', 'bridge_require_ocsp', 'bridge_reload_type', 'local_cleansession',
  // behaviour switches Roost has fixed choices for
  'connection_messages', 'memory_limit', 'set_tcp_nodelay',
  'allow_duplicate_messages', 'retry_interval', 'store_clean_interval',
  // process and logging details
  'user', 'log_facility'
])
