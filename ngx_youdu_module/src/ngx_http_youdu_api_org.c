
/*
 * youdu HTTP module: the org chart as employees read it.
 */


#include "ngx_http_youdu_module.h"


const ngx_http_youdu_route_t  ngx_http_youdu_org_routes[] = {
    { 0, NULL, NULL, 0, 0, 0 }
};
