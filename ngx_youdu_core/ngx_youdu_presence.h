
/*
 * youdu: presence in Redis (docs/push.md "Presence").  Hash yd:pres:<uid>,
 * one field per push connection "<node>:<pid>:<conn number>" with the
 * value "<device_type>|<unix time after which the field is stale>".  The
 * deadline is stored rather than the refresh time so readers need not know
 * the writer's TTL; a node that dies leaves fields that go stale and are
 * deleted by the next script that reads the hash.
 */

#ifndef _NGX_YOUDU_PRESENCE_H_INCLUDED_
#define _NGX_YOUDU_PRESENCE_H_INCLUDED_


#define YD_PRES_KEY_PREFIX   "yd:pres:"
#define YD_PRES_NODE_PREFIX  "yd:pres:node:"   /* users with a field of the node */
#define YD_PRES_NODES        "yd:pres:nodes"   /* zset: node -> deadline */

/* sorted distinct live devices of hash k; deletes stale fields */
#define YD_PRES_LUA_LIVE                                                      \
    "local function live(k,now) "                                           \
      "local h=redis.call('HGETALL',k) local s={} local d={} "               \
      "for i=1,#h,2 do "                                                     \
        "local dev,dl=string.match(h[i+1],'^(.*)|(%d+)$') "                  \
        "if dl==nil or tonumber(dl)<now then redis.call('HDEL',k,h[i]) "     \
        "elseif not s[dev] then s[dev]=1 d[#d+1]=dev end "                   \
      "end "                                                                 \
      "table.sort(d) return d "                                              \
    "end "                                                                   \
    "local function js(uid,d) "                                              \
      "local e={} for i=1,#d do e[i]=cjson.encode(d[i]) end "               \
      "return '\"user_id\":'..uid..',\"online\":'.."                         \
        "(#d>0 and 'true' or 'false')..',\"devices\":['.."                    \
        "table.concat(e,',')..']' "                                          \
    "end "

/* the node id of a field "<node>:<pid>:<conn>", and whether hash k still
 * has a field of node n */
#define YD_PRES_LUA_NODE                                                      \
    "local function node_of(f) return string.match(f,'^([^:]+):') end "     \
    "local function has_node(k,n) "                                          \
      "for _,f in ipairs(redis.call('HKEYS',k)) do "                         \
        "if node_of(f)==n then return true end "                             \
      "end return false "                                                    \
    "end "

/*
 * KEYS[1] the hash; ARGV: "on"|"off", field, device, now, ttl, uid.
 * Publishes {"t":"presence",...} on yd:push when the user's set of live
 * devices changed (first device on, last off, or a device type added or
 * removed); returns the number of live device types.  Also keeps the
 * node's index for the sweeper: yd:pres:node:<node> holds the users with
 * a field of that node, yd:pres:nodes the node's deadline.
 */
#define YD_PRES_LUA_UPDATE                                                    \
    YD_PRES_LUA_LIVE                                                         \
    YD_PRES_LUA_NODE                                                         \
    "local k=KEYS[1] local now=tonumber(ARGV[4]) local ttl=tonumber(ARGV[5]) " \
    "local n=node_of(ARGV[2]) local ns='" YD_PRES_NODE_PREFIX "'..n "        \
    "local b=table.concat(live(k,now),',') "                                 \
    "if ARGV[1]=='on' then "                                                 \
      "redis.call('HSET',k,ARGV[2],ARGV[3]..'|'..(now+ttl)) "                \
      "redis.call('EXPIRE',k,ttl) "                                          \
      "redis.call('SADD',ns,ARGV[6]) "                                       \
      "redis.call('ZADD','" YD_PRES_NODES "','GT',now+ttl,n) "               \
    "else redis.call('HDEL',k,ARGV[2]) "                                     \
      "if not has_node(k,n) then redis.call('SREM',ns,ARGV[6]) end "         \
    "end "                                                                   \
    "local a=live(k,now) "                                                   \
    "if table.concat(a,',')~=b then "                                        \
      "redis.call('PUBLISH','yd:push','{\"t\":\"presence\",'..js(ARGV[6],a)..'}') " \
    "end "                                                                   \
    "return #a"

/*
 * The sweeper, run by every worker once per heartbeat (ngx_youdu_push_node.c).
 * ARGV: own node, now, ttl, a node known dead or "", budget (users).
 * Refreshes the own node's deadline, marks the dead one, then for nodes
 * past their deadline deletes their fields user by user and publishes
 * each user's new state (a reader may have dropped the stale fields
 * already without telling anybody, so the state is published anyway).
 * Returns 1 when the budget ran out with work left, else 0.
 */
#define YD_PRES_LUA_SWEEP                                                     \
    YD_PRES_LUA_LIVE                                                         \
    YD_PRES_LUA_NODE                                                         \
    "local Z='" YD_PRES_NODES "' local now=tonumber(ARGV[2]) "               \
    "redis.call('ZADD',Z,now+tonumber(ARGV[3]),ARGV[1]) "                    \
    "if ARGV[4]~='' and ARGV[4]~=ARGV[1] then redis.call('ZADD',Z,0,ARGV[4]) end " \
    "local left=tonumber(ARGV[5]) "                                          \
    "for _,n in ipairs(redis.call('ZRANGEBYSCORE',Z,'-inf','('..now,'LIMIT',0,16)) do " \
      "local ns='" YD_PRES_NODE_PREFIX "'..n "                               \
      "for _,uid in ipairs(redis.call('SPOP',ns,left)) do "                  \
        "local k='" YD_PRES_KEY_PREFIX "'..uid "                             \
        "for _,f in ipairs(redis.call('HKEYS',k)) do "                       \
          "if node_of(f)==n then redis.call('HDEL',k,f) end "                \
        "end "                                                               \
        "redis.call('PUBLISH','yd:push','{\"t\":\"presence\",'..js(uid,live(k,now))..'}') " \
        "left=left-1 "                                                       \
      "end "                                                                 \
      "if redis.call('EXISTS',ns)==0 then redis.call('ZREM',Z,n) end "       \
      "if left<=0 then return 1 end "                                        \
    "end "                                                                   \
    "return 0"


/*
 * KEYS: the hashes; ARGV[1] now, ARGV[1 + i] the user id of KEYS[i].
 * Returns the JSON text [{"user_id","online","devices"},...].
 */
#define YD_PRES_LUA_READ                                                      \
    YD_PRES_LUA_LIVE                                                         \
    "local now=tonumber(ARGV[1]) local o={} "                                \
    "for j=1,#KEYS do o[j]='{'..js(ARGV[j+1],live(KEYS[j],now))..'}' end "  \
    "return '['..table.concat(o,',')..']'"


#endif /* _NGX_YOUDU_PRESENCE_H_INCLUDED_ */
