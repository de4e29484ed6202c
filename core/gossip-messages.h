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
  GOSSIP_MSG_LAST_PROTOCOL = 127,
} GossipMsgType;

/* Bounds on what a peer may send us, checked when parsing. */
#define GOSSIP_MSG_MAX_ID_LEN      128
#define GOSSIP_MSG_MAX_ADDRESS_LEN 512
#define GOSSIP_MSG_MAX_VERSION_LEN 128
#define GOSSIP_MSG_MAX_PIGGYBACK   256
#define GOSSIP_MSG_MAX_MEMBERS     100000

/* A membership update or a member record in a push-pull. */
typedef struct
{
  GossipMsgType type; /* ALIVE, SUSPECT, DEAD, LEAVE; or state record */
  const char *node;
  const char *address; /* ALIVE and records */
  guint64 incarnation;
  const char *from; /* SUSPECT, DEAD: the accuser */
  guint state;      /* records: GossipNodeState */
  guint protocol_version;
  const char *app_version;
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

G_END_DECLS
