// Who makes a request, as the job manager sees it: a plain struct, so the manager stays free of
// gRPC and of how callers prove who they are (server/auth.h does that).
#ifndef MT_SERVER_CALLER_H_
#define MT_SERVER_CALLER_H_

#include <string>

namespace mt::server {

struct Caller {
  std::string user;    // "" when authentication is off (everyone is the one local user)
  bool admin = false;  // sees and acts on every job

  // Authentication off: the local user, who may act on every job (the daemon before tokens).
  static Caller Local() { return Caller{"", true}; }

  // The one rule of ownership: a job is its owner's, and an admin's.
  bool MayAccess(const std::string& owner) const { return admin || owner == user; }
};

}  // namespace mt::server

#endif  // MT_SERVER_CALLER_H_
