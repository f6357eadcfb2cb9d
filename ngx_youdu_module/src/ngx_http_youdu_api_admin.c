
/*
 * youdu HTTP module: org chart administration.
 */


#include "ngx_http_youdu_module.h"


const ngx_http_youdu_route_t  ngx_http_youdu_admin_routes[] = {
    { 0, NULL, NULL, 0, 0, 0 }
};
