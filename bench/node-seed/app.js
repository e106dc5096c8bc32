// The seeds' Node tutorial app (express + passport-local + passport-jwt + jsonwebtoken + bcrypt),
// as /work/shared/seeds/jwt-passport-tutorial.txt writes it, for the comparison row of
// bench/load.sh. One change: users live in memory (a Map) instead of MongoDB, which is not
// on the benchmark machine; that only makes signup and login cheaper for Node (the guarded
// route never reads the database in the tutorial: it trusts the token's payload).
//
//   PORT=3098 JWT_SECRET=... node bench/node-seed/app.js
'use strict';
const express = require('express');
const bodyParser = require('body-parser');
const passport = require('passport');
const localStrategy = require('passport-local').Strategy;
const JWTstrategy = require('passport-jwt').Strategy;
const ExtractJWT = require('passport-jwt').ExtractJwt;
const bcrypt = require('bcrypt');
const jwt = require('jsonwebtoken');
const crypto = require('crypto');

const SECRET = process.env.JWT_SECRET || 'top_secret';
const COST = Number(process.env.BCRYPT_COST || 10);

// The model: { _id, email, password(hash) }, hashed with bcrypt before saving.
const users = new Map();
const UserModel = {
  async create({ email, password }) {
    if (users.has(email)) throw new Error('duplicate key');
    const user = { _id: crypto.randomUUID(), email, password: await bcrypt.hash(password, COST) };
    users.set(email, user);
    return user;
  },
  async findOne({ email }) {
    return users.get(email) || null;
  },
};
const isValidPassword = (user, password) => bcrypt.compare(password, user.password);

passport.use('signup', new localStrategy({ usernameField: 'email', passwordField: 'password' },
  async (email, password, done) => {
    try {
      const user = await UserModel.create({ email, password });
      return done(null, { _id: user._id, email: user.email });
    } catch (error) {
      return done(error);
    }
  }));

passport.use('login', new localStrategy({ usernameField: 'email', passwordField: 'password' },
  async (email, password, done) => {
    try {
      const user = await UserModel.findOne({ email });
      if (!user) return done(null, false, { message: 'User not found' });
      const validate = await isValidPassword(user, password);
      if (!validate) return done(null, false, { message: 'Wrong Password' });
      return done(null, user, { message: 'Logged in Successfully' });
    } catch (error) {
      return done(error);
    }
  }));

passport.use(new JWTstrategy({
  secretOrKey: SECRET,
  jwtFromRequest: ExtractJWT.fromUrlQueryParameter('secret_token'),
}, async (token, done) => {
  try {
    return done(null, token.user);
  } catch (error) {
    done(error);
  }
}));

const app = express();
app.use(bodyParser.urlencoded({ extended: false }));
app.use(bodyParser.json());

const routes = express.Router();
routes.post('/signup', passport.authenticate('signup', { session: false }), async (req, res) => {
  res.json({ message: 'Signup successful', user: req.user });
});
routes.post('/login', async (req, res, next) => {
  passport.authenticate('login', async (err, user) => {
    try {
      if (err || !user) {
        const error = new Error('An Error occurred');
        return next(error);
      }
      req.login(user, { session: false }, async (error) => {
        if (error) return next(error);
        const body = { _id: user._id, email: user.email };
        const token = jwt.sign({ user: body }, SECRET);
        return res.json({ token });
      });
    } catch (error) {
      return next(error);
    }
  })(req, res, next);
});
const secureRoute = express.Router();
secureRoute.get('/profile', (req, res) => {
  res.json({ message: 'You made it to the secure route', user: req.user, token: req.query.secret_token });
});

app.use('/', routes);
app.use('/user', passport.authenticate('jwt', { session: false }), secureRoute);
app.get('/health', (req, res) => res.json({ status: 'ok' }));
app.use((err, req, res, next) => { // eslint-disable-line no-unused-vars
  res.status(err.status || 500);
  res.json({ error: err });
});

const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => console.log(`Server started on ${port}`));
