/*
 * libmicrohttpd, loaded on first use (autodev/dynlib.h): the server calls
 * its functions by their own names and prototypes, through the table
 * below, once ad__mhd_load() has loaded the library (ad_server_start()
 * does, before anything else here runs). The binary does not link it, so
 * a command that does not serve never loads it (nor GnuTLS with it).
 *
 * A function the server starts to use is added here, once: the member,
 * the #define and the entry in mhd_api.c.
 */
#ifndef AD_SERVER_MHD_API_H
#define AD_SERVER_MHD_API_H

#include <sys/socket.h>

#include <microhttpd.h>

#include "autodev/error.h"

struct ad__mhd_api {
    __typeof__(MHD_start_daemon) *f_MHD_start_daemon;
    __typeof__(MHD_stop_daemon) *f_MHD_stop_daemon;
    __typeof__(MHD_quiesce_daemon) *f_MHD_quiesce_daemon;
    __typeof__(MHD_get_daemon_info) *f_MHD_get_daemon_info;
    __typeof__(MHD_get_connection_info) *f_MHD_get_connection_info;
    __typeof__(MHD_get_connection_values) *f_MHD_get_connection_values;
    __typeof__(MHD_lookup_connection_value) *f_MHD_lookup_connection_value;
    __typeof__(MHD_suspend_connection) *f_MHD_suspend_connection;
    __typeof__(MHD_resume_connection) *f_MHD_resume_connection;
    __typeof__(MHD_create_response_from_buffer) *f_MHD_create_response_from_buffer;
    __typeof__(MHD_create_response_from_callback) *f_MHD_create_response_from_callback;
    __typeof__(MHD_add_response_header) *f_MHD_add_response_header;
    __typeof__(MHD_queue_response) *f_MHD_queue_response;
    __typeof__(MHD_destroy_response) *f_MHD_destroy_response;
};
extern struct ad__mhd_api ad__mhd;

/* Loads libmicrohttpd; 0, or AD_EIO saying what is missing. */
int ad__mhd_load(struct ad_err *err);

#define MHD_start_daemon ad__mhd.f_MHD_start_daemon
#define MHD_stop_daemon ad__mhd.f_MHD_stop_daemon
#define MHD_quiesce_daemon ad__mhd.f_MHD_quiesce_daemon
#define MHD_get_daemon_info ad__mhd.f_MHD_get_daemon_info
#define MHD_get_connection_info ad__mhd.f_MHD_get_connection_info
#define MHD_get_connection_values ad__mhd.f_MHD_get_connection_values
#define MHD_lookup_connection_value ad__mhd.f_MHD_lookup_connection_value
#define MHD_suspend_connection ad__mhd.f_MHD_suspend_connection
#define MHD_resume_connection ad__mhd.f_MHD_resume_connection
#define MHD_create_response_from_buffer ad__mhd.f_MHD_create_response_from_buffer
#define MHD_create_response_from_callback ad__mhd.f_MHD_create_response_from_callback
#define MHD_add_response_header ad__mhd.f_MHD_add_response_header
#define MHD_queue_response ad__mhd.f_MHD_queue_response
#define MHD_destroy_response ad__mhd.f_MHD_destroy_response

#endif
