/* gossip-messages.h: the protocol's own messages (docs/PROTOCOL.md).
 *
 * Every message is a map with short string keys (`a{sv}` before encoding),
 * so fields can be added later and older nodes ignore what they do not know.
 * "t" is the message type.  Any message may carry "pb", an array of
 * membership updates piggybacked on it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  GOSSIP_MSG_PING = 1,
  GOSSIP_MSG_ACK = 2,
  GOSSIP_MSG_PING_REQ = 3,
  GOSSIP_MSG_NACK = 4,
  GOSSIP_MSG_ALIVE = 5,
  GOSSIP_MSG_SUSPECT = 6,
  GOSSIP_MSG_DEAD = 7,
  GOSSIP_MSG_LEAVE = 8,
  GOSSIP_MSG_PUSH_PULL = 9,
  GOSSIP_MSG_PUSH_PULL_REPLY = 10,
  GOSSIP_MSG_REFUSE = 11,
  GOSSIP_MSG_GOSSIP = 12,
  GOSSIP_MSG_USER = 13,
  GOSSIP_MSG_USER_REPLY = 14,
  GOSSIP_MSG_BROADCAST = 15,
  GOSSIP_MSG_META_REQUEST = 16,
  GOSSIP_MSG_META_REPLY = 17,
  GOSSIP_MSG_STREAM_OPEN = 18,
  GOSSIP_MSG_STREAM_ANSWER = 19,
  GOSSIP_MSG_STREAM_CREDIT = 20,
  GOSSIP_MSG_STREAM_FIN = 21,
  GOSSIP_MSG_STREAM_ABORT = 22,
  GOSSIP_MSG_LAST_PROTOCOL = 127,
} GossipMsgType;

/* Bounds on what a peer may send us, checked when parsing. */
#define GOSSIP_MSG_MAX_ID_LEN              128
#define GOSSIP_MSG_MAX_ADDRESS_LEN         512
#define GOSSIP_MSG_MAX_EXTRA_ADDRESSES_LEN 2048
#define GOSSIP_MSG_MAX_VERSION_LEN         128
#define GOSSIP_MSG_MAX_PIGGYBACK           256
#define GOSSIP_MSG_MAX_MEMBERS             100000

/* A membership update or a member record in a push-pull. */
typedef struct
{
  GossipMsgType type; /* ALIVE, SUSPECT, DEAD, LEAVE; or state record */
  const char *node;
  const char *address;         /* ALIVE and records */
  const char *extra_addresses; /* ALIVE and records: other transports', space-separated */
  guint64 incarnation;
  const char *from; /* SUSPECT, DEAD: the accuser */
  guint state;      /* records: GossipNodeState */
  guint protocol_version;
  const char *app_version;
  guint64 meta_version; /* ALIVE and records: version of the node's metadata */
  GVariant *source;     /* parsed: the update's own map, borrowed ("m" is read from it) */
  GVariant *metadata;   /* building: metadata in wire form to inline, borrowed, or NULL */
} GossipUpdate;

/* A parsed message; strings point into the GVariant it was parsed from. */
typedef struct
{
  GossipMsgType type;
  guint64 seq;
  const char *from;
  const char *from_address;
  guint64 from_incarnation;
  const char *target;
  const char *target_address;
  gboolean join;
  guint protocol_version;
  const char *app_version;
  const char *reason;
  guint code;
  const char *digest;  /* ACK: the sender's membership digest, may be NULL */
  GossipUpdate update; /* ALIVE..LEAVE as the message itself */
  GVariant *members;   /* PUSH_PULL(_REPLY): av of records, owned */
  GVariant *piggyback; /* av of updates, owned, may be NULL */
  /* USER, USER_REPLY, BROADCAST */
  guint user_type;
  gboolean request;       /* USER: the sender waits for a USER_REPLY with seq */
  const char *origin;     /* BROADCAST: the originating node */
  guint64 epoch;          /* BROADCAST: the originator's life (random per start) */
  guint64 hops;           /* BROADCAST: forwards left */
  gint64 sent_at;         /* BROADCAST: originator's wall clock, ms */
  gboolean relay;         /* BROADCAST: relay even where no handler forwards */
  const char *error_text; /* USER_REPLY: the remote handler's error */
  GVariant *payload;      /* owned, may be NULL */
  const char *node;       /* META_REQUEST, META_REPLY: whose metadata */
  guint64 meta_version;
  GVariant *metadata; /* META_REPLY: owned, may be NULL */
  guint64 window;     /* STREAM_OPEN, STREAM_ANSWER: the sender's receive window */
  guint64 stream_id;  /* STREAM_*: the stream's id (seq is the frame's number) */
} GossipMsg;

gboolean _gossip_msg_parse (GVariant *message, GossipMsg *out, GError **error);
void _gossip_msg_clear (GossipMsg *msg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GossipMsg, _gossip_msg_clear)
gboolean _gossip_update_parse (GVariant *update, GossipUpdate *out, GError **error);

GVariant *_gossip_msg_ping (guint64 seq, const char *from, const char *from_address,
                            guint64 from_incarnation, const char *target);
GVariant *_gossip_msg_ack (GossipMsgType type, guint64 seq, const char *from, const char *digest);
GVariant *_gossip_msg_ping_req (guint64 seq, const char *from, const char *from_address,
                                const char *target, const char *target_address);
GVariant *_gossip_msg_update (const GossipUpdate *update);
GVariant *_gossip_msg_record (const GossipUpdate *record);
GVariant *_gossip_msg_push_pull (GossipMsgType type, guint64 seq, const char *from,
                                 const char *from_address, gboolean join, guint protocol_version,
                                 const char *app_version, GVariant *members);
GVariant *_gossip_msg_refuse (guint64 seq, const char *from, guint code, const char *reason);
GVariant *_gossip_msg_gossip (const char *from);
GVariant *_gossip_msg_with_piggyback (GVariant *message, GPtrArray *updates);
GVariant *_gossip_msg_stream_open (guint64 stream_id, const char *from, const char *from_address,
                                   guint user_type, guint64 window, GVariant *payload);
GVariant *_gossip_msg_stream_answer (guint64 stream_id, const char *from, guint64 window,
                                     const GError *error);
GVariant *_gossip_msg_stream_control (GossipMsgType type, guint64 stream_id, guint64 seq,
                                      guint64 credit, const char *reason);
GVariant *_gossip_msg_user (guint64 seq, const char *from, const char *from_address,
                            guint user_type, gboolean request, GVariant *payload);
GVariant *_gossip_msg_user_reply (guint64 seq, const char *from, GVariant *payload,
                                  const GError *error);
GVariant *_gossip_msg_broadcast (const char *origin, guint64 epoch, guint64 seq, guint user_type,
                                 guint64 hops, gint64 sent_at, gboolean relay, GVariant *payload);
GVariant *_gossip_msg_meta_request (guint64 seq, const char *from, const char *node);
GVariant *_gossip_msg_meta_reply (guint64 seq, const char *from, const char *node,
                                  guint64 meta_version, GVariant *metadata);
/* Peeks at a piggybacked entry's type without parsing it. */
guint _gossip_msg_peek_type (GVariant *entry);

G_END_DECLS
