
/*
 * youdu HTTP module: administrators managing accounts (passwords, locks,
 * devices) and reading the login and audit logs.
 */


#include "ngx_http_youdu_module.h"


const ngx_http_youdu_route_t  ngx_http_youdu_account_admin_routes[] = {
    { 0, NULL, NULL, 0, 0, 0 }
};
