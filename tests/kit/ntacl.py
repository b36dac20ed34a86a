"""Sets the NT ACL of a file on a Samba share with acl_xattr, as Samba stores it.

Usage: ntacl.py SMB_CONF PATH SDDL. Writes the security.NTACL extended attribute through Samba's
own Python bindings (the same code as `samba-tool ntacl set --use-ntvfs`), because smbcacls
cannot reach a server on a non-default port.
"""
import sys

from samba import ntacls, param
from samba.auth import system_session
from samba.dcerpc import security

conf, path, sddl = sys.argv[1:4]
lp = param.LoadParm()
lp.load(conf)
domain = security.dom_sid("S-1-5-21-1000-2000-3000")
ntacls.setntacl(lp, path, sddl, domain, system_session(), use_ntvfs=True)
