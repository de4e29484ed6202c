/* gossip-config-keys.c: the table of every setting libgossip knows.
 *
 * One row per key, in keyfile order.  gossip_config_list_keys() returns
 * _gossip_config_keys; _gossip_config_key_info holds the ranges and checks
 * for the same rows.  Defaults are in keyfile form and parsed by the same
 * code that parses keyfiles, so the documented default is the real one.
 */
#include "config.h"

#include "gossip-config-private.h"

#define MS     G_GINT64_CONSTANT (1000)
#define SEC    (1000 * MS)
#define MINUTE (60 * SEC)
#define HOUR   (60 * MINUTE)
#define KIB    G_GINT64_CONSTANT (1024)
#define MIB    (1024 * KIB)
#define GIB    (1024 * MIB)

#define B  GOSSIP_CONFIG_TYPE_BOOLEAN
#define I  GOSSIP_CONFIG_TYPE_INT
#define SZ GOSSIP_CONFIG_TYPE_SIZE
#define D  GOSSIP_CONFIG_TYPE_DURATION
#define S  GOSSIP_CONFIG_TYPE_STRING
#define SV GOSSIP_CONFIG_TYPE_STRV
#define C  GOSSIP_CONFIG_TYPE_CHOICE

const GossipConfigKey _gossip_config_keys[] = {
  { "cluster", "node_id", S, "",
    "Unique name of this node (at most 128 printable bytes, no whitespace); empty generates "
    "one." },
  { "cluster", "bind_address", S, "0.0.0.0:7946",
    "Address the transports listen on, as host:port." },
  { "cluster", "advertise_address", S, "",
    "Address other nodes use to reach this one (IP, host name or srv+NAME, resolved at start); "
    "empty derives it from bind_address." },
  { "cluster", "default_port", I, "7946",
    "Port used for seed and join addresses that do not name one." },
  { "cluster", "seeds", SV, "",
    "Addresses to join at start and to retry when the cluster is partitioned." },
  { "cluster", "app_version", S, "",
    "Application version (at most 128 printable bytes, no whitespace), exchanged when nodes "
    "join and given to the version-check callback." },

  { "plugins", "transport", SV, "socket",
    "One or more transport plugins to listen and send with." },
  { "plugins", "codec", S, "msgpack", "Codec plugin that encodes protocol messages." },
  { "plugins", "compressor", S, "", "Compressor plugin for frames; empty sends uncompressed." },
  { "plugins", "cipher", S, "", "Cipher plugin that encrypts frames; empty sends cleartext." },
  { "plugins", "path", SV, "",
    "Extra directories searched for plugins before the installed ones." },

  { "security", "key", S, "",
    "Primary encryption key, base64 of 16, 24 or 32 bytes; used to encrypt and decrypt." },
  { "security", "accepted_keys", SV, "",
    "More base64 keys accepted for decryption only, e.g. while rotating keys." },

  { "compression", "min_size", SZ, "512", "Frames smaller than this are sent uncompressed." },
  { "compression", "level", I, "-1",
    "Compression level passed to the compressor; -1 is the plugin's default." },

  { "transport", "datagrams", B, "true",
    "Whether small messages may travel as datagrams rather than over streams." },
  { "transport", "max_datagram_size", SZ, "1400",
    "Largest datagram sent; larger messages go over a stream." },
  { "transport", "max_frame_size", SZ, "4MiB", "Largest frame sent or accepted over a stream." },
  { "transport", "max_connections", I, "256", "Most stream connections kept open at once." },
  { "transport", "idle_timeout", D, "30s", "Stream connections idle this long are closed." },
  { "transport", "io_timeout", D, "10s", "Longest a single stream read or write may take." },
  { "transport", "connect_timeout", D, "5s", "Longest a stream connection attempt may take." },

  { "health", "profile", C, "lan",
    "Timing preset (lan, local or wan) for the probe and gossip keys not given explicitly." },
  { "health", "probe_interval", D, "1s", "Time between failure-detection probes of one member." },
  { "health", "probe_timeout", D, "500ms",
    "Time to wait for a direct probe's ack before asking others; less than probe_interval." },
  { "health", "indirect_checks", I, "3",
    "Members asked to probe indirectly when a direct probe fails." },
  { "health", "suspicion_mult", I, "4",
    "Multiplier of the probe interval for how long a member stays suspect before dead." },
  { "health", "suspicion_max_timeout_mult", I, "6",
    "Upper bound of the suspicion timeout, as a multiple of its minimum." },
  { "health", "awareness_max_multiplier", I, "8",
    "Most a node slows its probing when it suspects it is itself unhealthy." },
  { "health", "dead_node_timeout", D, "30s",
    "How long a dead member is remembered before it is forgotten." },
  { "health", "reconnect_interval", D, "10s",
    "Time between attempts to rejoin seeds or dead members." },
  { "health", "leave_timeout", D, "2s",
    "Longest a graceful leave waits for its announcement to spread." },

  { "gossip", "interval", D, "200ms", "Time between gossip rounds." },
  { "gossip", "fanout", I, "3", "Members each gossip round sends to." },
  { "gossip", "retransmit_mult", I, "4",
    "Multiplier of log(members) for how often each update is retransmitted." },
  { "gossip", "push_pull_interval", D, "30s",
    "Time between full state exchanges with a random member; 0 turns them off." },

  { "messages", "user_share", I, "30",
    "Percent of each datagram's spare room kept for user broadcasts before protocol updates." },
  { "messages", "hop_limit", I, "0",
    "Most times a broadcast is relayed; 0 sizes it from the cluster (log2(N) + 3)." },
  { "messages", "max_queued", I, "16384",
    "Most messages waiting for their first fan-out, and most broadcasts kept for "
    "retransmission." },
  { "messages", "dedup_window", D, "10m",
    "How long broadcast ids are remembered; older broadcasts are refused as replays." },
  { "messages", "request_timeout", D, "5s", "Default time a request waits for its reply." },
  { "messages", "max_metadata_size", SZ, "64KiB", "Largest metadata map a node may have." },

  { "websocket", "bind_address", S, "",
    "Where a WebSocket transport listens, host:port; empty uses [cluster] bind_address." },
  { "websocket", "advertise_address", S, "",
    "ws:// or wss:// URL other nodes reach the WebSocket endpoint at (a proxy's, or when "
    "bind_address is 0.0.0.0); empty uses the address it listens on." },
  { "websocket", "path", S, "/gossip", "URL path of the WebSocket endpoint." },
  { "websocket", "tls_cert_file", S, "",
    "PEM certificate (chain) to serve wss:// with; empty serves plain ws://." },
  { "websocket", "tls_key_file", S, "", "PEM private key of tls_cert_file." },
  { "websocket", "tls_ca_file", S, "",
    "PEM CA bundle that peers' certificates are checked against; empty uses the system's." },
  { "websocket", "allow_insecure", B, "false",
    "Allow plain ws:// (no TLS), to listen on and to connect to." },
  { "websocket", "ping_interval", D, "15s",
    "Time between keepalive pings on an idle WebSocket connection; 0 sends none." },

  { "streams", "window", SZ, "4MiB",
    "Bytes a stream's writer may send ahead of what the reader has consumed." },
  { "streams", "chunk_size", SZ, "256KiB",
    "Largest piece of stream data per frame; capped by [transport] max_frame_size." },
  { "streams", "max_streams", I, "256", "Most streams open at once, both directions." },
  { "streams", "open_timeout", D, "10s",
    "Longest opening a stream may take, connect and handler's answer included." },
};

static const char *const profile_choices[] = { "lan", "local", "wan", NULL };

#define NONE GOSSIP_CONFIG_CHECK_NONE
#define INFO(min, max, check, profiled)                                                            \
  {                                                                                                \
    (min), (max), 0.0, 0.0, NULL, (check), (profiled)                                              \
  }

const GossipConfigKeyInfo _gossip_config_key_info[] = {
  /* [cluster] */
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NODE_ID, FALSE),
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NOT_EMPTY, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (1, 65535, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NODE_ID, FALSE),
  /* [plugins] */
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NOT_EMPTY, FALSE),
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NOT_EMPTY, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  /* [security] */
  INFO (0, 0, GOSSIP_CONFIG_CHECK_BASE64_KEY, FALSE),
  INFO (0, 0, GOSSIP_CONFIG_CHECK_BASE64_KEY, FALSE),
  /* [compression] */
  INFO (0, MIB, NONE, FALSE),
  INFO (-1, 22, NONE, FALSE),
  /* [transport] */
  INFO (0, 0, NONE, FALSE),
  INFO (512, 65507, NONE, FALSE),
  INFO (64 * KIB, GIB, NONE, FALSE),
  INFO (1, 65536, NONE, FALSE),
  INFO (SEC, HOUR, NONE, FALSE),
  INFO (100 * MS, 10 * MINUTE, NONE, FALSE),
  INFO (100 * MS, 10 * MINUTE, NONE, FALSE),
  /* [health] */
  { 0, 0, 0.0, 0.0, profile_choices, NONE, FALSE },
  INFO (10 * MS, HOUR, NONE, TRUE),
  INFO (MS, HOUR, NONE, TRUE),
  INFO (0, 16, NONE, TRUE),
  INFO (1, 100, NONE, TRUE),
  INFO (1, 100, NONE, FALSE),
  INFO (1, 100, NONE, FALSE),
  INFO (0, 24 * HOUR, NONE, FALSE),
  INFO (100 * MS, HOUR, NONE, FALSE),
  INFO (0, 5 * MINUTE, NONE, FALSE),
  /* [gossip] */
  INFO (MS, HOUR, NONE, TRUE),
  INFO (1, 64, NONE, TRUE),
  INFO (1, 100, NONE, TRUE),
  INFO (0, 24 * HOUR, NONE, TRUE),
  /* [messages] */
  INFO (0, 90, NONE, FALSE),
  INFO (0, 64, NONE, FALSE),
  INFO (16, 1 << 24, NONE, FALSE),
  INFO (SEC, 24 * HOUR, NONE, FALSE),
  INFO (MS, HOUR, NONE, FALSE),
  INFO (0, 16 * MIB, NONE, FALSE),
  /* [websocket] */
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, GOSSIP_CONFIG_CHECK_NOT_EMPTY, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, 0, NONE, FALSE),
  INFO (0, HOUR, NONE, FALSE),
  /* [streams] */
  INFO (64 * KIB, GIB, NONE, FALSE),
  INFO (KIB, 64 * MIB, NONE, FALSE),
  INFO (1, 65536, NONE, FALSE),
  INFO (100 * MS, HOUR, NONE, FALSE),
};

G_STATIC_ASSERT (G_N_ELEMENTS (_gossip_config_keys) == G_N_ELEMENTS (_gossip_config_key_info));

const guint _gossip_config_n_keys = G_N_ELEMENTS (_gossip_config_keys);

/* hashicorp/memberlist DefaultLANConfig, DefaultLocalConfig, DefaultWANConfig. */
#define PROFILE(name, pi, pt, ic, sm, gi, gf, rm, pp)                                              \
  {                                                                                                \
    name,                                                                                          \
    {                                                                                              \
      { "health", "probe_interval", pi }, { "health", "probe_timeout", pt },                       \
          { "health", "indirect_checks", ic }, { "health", "suspicion_mult", sm },                 \
          { "gossip", "interval", gi }, { "gossip", "fanout", gf },                                \
          { "gossip", "retransmit_mult", rm }, { "gossip", "push_pull_interval", pp },             \
    }                                                                                              \
  }

const GossipConfigProfile _gossip_config_profiles[] = {
  PROFILE ("lan", "1s", "500ms", "3", "4", "200ms", "3", "4", "30s"),
  PROFILE ("local", "1s", "200ms", "1", "3", "100ms", "3", "2", "15s"),
  PROFILE ("wan", "5s", "3s", "4", "6", "500ms", "4", "4", "60s"),
};

const guint _gossip_config_n_profiles = G_N_ELEMENTS (_gossip_config_profiles);
