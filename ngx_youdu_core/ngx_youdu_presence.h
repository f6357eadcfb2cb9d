
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


#define YD_PRES_KEY_PREFIX  "yd:pres:"

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

/*
 * KEYS[1] the hash; ARGV: "on"|"off", field, device, now, ttl, uid.
 * Publishes {"t":"presence",...} on yd:push when the user's set of live
 * devices changed (first device on, last off, or a device type added or
 * removed); returns the number of live device types.
 */
#define YD_PRES_LUA_UPDATE                                                    \
    YD_PRES_LUA_LIVE                                                         \
    "local k=KEYS[1] local now=tonumber(ARGV[4]) "                           \
    "local b=table.concat(live(k,now),',') "                                 \
    "if ARGV[1]=='on' then "                                                 \
      "redis.call('HSET',k,ARGV[2],ARGV[3]..'|'..(now+tonumber(ARGV[5]))) " \
      "redis.call('EXPIRE',k,ARGV[5]) "                                      \
    "else redis.call('HDEL',k,ARGV[2]) end "                                 \
    "local a=live(k,now) "                                                   \
    "if table.concat(a,',')~=b then "                                        \
      "redis.call('PUBLISH','yd:push','{\"t\":\"presence\",'..js(ARGV[6],a)..'}') " \
    "end "                                                                   \
    "return #a"

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
