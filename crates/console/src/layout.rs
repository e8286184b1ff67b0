//! The page shell every page shares: language, title, the one stylesheet, a skip link, the navigation with who is
//! signed in, and the notices (`role="alert"` for refusals, `role="status"` for what was done).

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::session::Visitor;

/// A message at the top of a page.
pub(crate) enum Notice {
    /// Something was refused or failed.
    Error(String),
    /// Something was done.
    Done(String),
}

fn shell(title: &str, nav: Markup, notice: Option<&Notice>, main: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · oversight" }
                link rel="stylesheet" href="/static/console.css";
                // No icon: without this the browser asks for /favicon.ico on every page.
                link rel="icon" href="data:,";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header { (nav) }
                main #main {
                    @match notice {
                        Some(Notice::Error(m)) => div.notice.error role="alert" { p { (m) } },
                        Some(Notice::Done(m)) => div.notice.done role="status" { p { (m) } },
                        None => {},
                    }
                    (main)
                }
            }
        }
    };
    Html(page.into_string())
}

/// A page for `visitor`: the navigation shows the queue and a sign-out button to a signed-in reviewer, a sign-in link
/// to anyone else.
pub(crate) fn page(title: &str, visitor: &Visitor, notice: Option<&Notice>, main: Markup) -> Html<String> {
    let nav = html! {
        nav aria-label="Main" {
            span.brand { "oversight" }
            ul {
                @if visitor.signed.is_some() { li { a href="/queue" { "Queue" } } }
                li { a href="/log/" { "Public log" } }
                li { a href="/log/pseudonym" { "Check a pseudonym" } }
            }
            @match &visitor.signed {
                Some(s) => div.who {
                    span { "Signed in as " strong { (s.session.account.name()) } " (" (s.session.account.role()) ")" }
                    form method="post" action="/sign-out" {
                        input type="hidden" name="csrf" value=(s.session.csrf);
                        button type="submit" { "Sign out" }
                    }
                },
                None => div.who { a href="/sign-in" { "Sign in" } },
            }
        }
    };
    shell(title, nav, notice, main)
}

/// A page with a heading and a message only, for errors answered before the visitor is known.
pub(crate) fn bare(title: &str, message: &str) -> Html<String> {
    let nav = html! {
        nav aria-label="Main" {
            span.brand { "oversight" }
            ul { li { a href="/queue" { "Queue" } } li { a href="/log/" { "Public log" } } }
        }
    };
    shell(title, nav, None, html! { h1 { (title) } p { (message) } })
}
