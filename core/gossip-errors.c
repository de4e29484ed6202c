/* gossip-errors.c: the error domains of the plugin interfaces. */
#include "config.h"

#include "gossip/gossip-codec.h"
#include "gossip/gossip-cipher.h"
#include "gossip/gossip-compressor.h"
#include "gossip/gossip-transport.h"
#include "gossip/gossip-plugin.h"
#include "gossip/gossip-config.h"
#include "gossip/gossip-frame.h"

G_DEFINE_QUARK (gossip - codec - error - quark, gossip_codec_error)
G_DEFINE_QUARK (gossip - cipher - error - quark, gossip_cipher_error)
G_DEFINE_QUARK (gossip - compressor - error - quark, gossip_compressor_error)
G_DEFINE_QUARK (gossip - transport - error - quark, gossip_transport_error)
G_DEFINE_QUARK (gossip - plugin - error - quark, gossip_plugin_error)
G_DEFINE_QUARK (gossip - config - error - quark, gossip_config_error)
G_DEFINE_QUARK (gossip - frame - error - quark, gossip_frame_error)
