"""irctest controller for parley's IRC gateway.

Runs `parley-server` (the binary in $PARLEY_SERVER) with `--irc-listen` on the port
irctest chooses, in memory, with the abuse limits lifted for 127.0.0.0/8. Accounts
come from a users file that `registerUser` extends and the server reads again on
SIGHUP (irctest's passwords are shorter than parley lets /register take).
"""

import os
import signal
import subprocess
import time

from irctest.basecontrollers import (BaseServerController,
                                     DirectoryBasedController,
                                     NotImplementedByController)


class ParleyController(BaseServerController, DirectoryBasedController):
    software_name = 'parley'
    supported_sasl_mechanisms = {'PLAIN'}

    def run(self, hostname, port, password=None, ssl=False,
            restricted_metadata_keys=None, valid_metadata_keys=None,
            invalid_metadata_keys=None):
        if password is not None:
            raise NotImplementedByController('PASS command (server password)')
        if ssl:
            raise NotImplementedByController('TLS in irctest')
        if valid_metadata_keys or invalid_metadata_keys:
            raise NotImplementedByController('METADATA')
        assert self.proc is None
        self.port = port
        self.create_config()
        self.accounts = os.path.join(self.directory, 'users')
        self.log = os.path.join(self.directory, 'server.log')
        with self.open_file('users'):
            pass
        binary = os.environ.get('PARLEY_SERVER', 'parley-server')
        with open(self.log, 'w') as log:
            self.proc = subprocess.Popen(
                [binary, '--listen', '127.0.0.1:0',
                 '--irc-listen', '{}:{}'.format(hostname, port),
                 '--data', ':memory:', '--trusted', '127.0.0.0/8',
                 '--accounts-file', self.accounts,
                 '--hash-memory', '64', '--hash-passes', '1'],
                stdout=subprocess.DEVNULL, stderr=log)
        # Signals are handled once the server says where it listens.
        self._wait_for_log('listening on', 0)

    def _wait_for_log(self, needle, seen):
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log) as log:
                if log.read().count(needle) > seen:
                    return
            time.sleep(0.02)
        raise AssertionError('the server did not log {!r}'.format(needle))

    def registerUser(self, case, username, password=None):
        with self.open_file('users') as users:
            users.write('{}:{}\n'.format(username, password))
        with open(self.log) as log:
            before = log.read().count('accounts file reloaded')
        self.proc.send_signal(signal.SIGHUP)
        self._wait_for_log('accounts file reloaded', before)


def get_irctest_controller_class():
    return ParleyController
