
/*
 * youdu HTTP module: bulk import and export of the org chart.
 */


#include "ngx_http_youdu_module.h"


const ngx_http_youdu_route_t  ngx_http_youdu_import_routes[] = {
    { 0, NULL, NULL, 0, 0, 0 }
};
