#include "export.h"

#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

namespace initscope::ui {

namespace {
bool fail(QString* error, const QString& message) {
    if (error)
        *error = message;
    return false;
}
} // namespace

bool exportWidget(QWidget* widget, const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        return fail(error, QStringLiteral("Cannot export to %1: the file name must end in .png, "
                                          ".svg or .pdf.")
                               .arg(path));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return fail(error, QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
    const QSize size = widget->size();
    if (suffix == QLatin1String("png")) {
        QImage image(size * 2, QImage::Format_ARGB32);
        image.setDevicePixelRatio(2.0);
        image.fill(widget->palette().color(QPalette::Base));
        QPainter painter(&image);
        widget->render(&painter);
        painter.end();
        if (!image.save(&file, "PNG"))
            return fail(error, QStringLiteral("Cannot encode %1 as PNG.").arg(path));
    } else if (suffix == QLatin1String("svg")) {
        QSvgGenerator svg;
        svg.setOutputDevice(&file);
        svg.setSize(size);
        svg.setViewBox(QRect(QPoint(0, 0), size));
        svg.setTitle(widget->objectName());
        svg.setDescription(QStringLiteral("initscope"));
        QPainter painter(&svg);
        widget->render(&painter);
    } else {
        QPdfWriter pdf(&file);
        pdf.setCreator(QStringLiteral("initscope"));
        pdf.setResolution(96);
        pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter painter(&pdf);
        const double scale = std::min(painter.viewport().width() / double(size.width()),
                                      painter.viewport().height() / double(size.height()));
        painter.scale(scale, scale);
        widget->render(&painter);
    }
    if (!file.commit())
        return fail(error, QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
    return true;
}

bool saveText(const QString& text, const QString& path, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return fail(error, QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
    file.write(text.toUtf8());
    if (!file.commit())
        return fail(error, QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
    return true;
}

} // namespace initscope::ui
